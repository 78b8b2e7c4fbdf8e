package dynamo

// ItemSize lets tests measure raw items the way the store does.
var ItemSize = itemSize
