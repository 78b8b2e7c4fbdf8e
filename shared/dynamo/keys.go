package dynamo

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/datachat/datachat/shared/chat"
)

// The table layout. Every item of a conversation shares one partition, so a
// conversation is read, appended to and deleted without touching any other
// user's keys; the list index is partitioned by user alone.
//
//	item          pk                        sk               list_pk      list_sk
//	summary       USER#<user>#CONV#<conv>   CONV             USER#<user>  <updated ns, 20 digits>#<conv>
//	turn          USER#<user>#CONV#<conv>   TURN#<seq, 10>   -            -
//
// <user> and <conv> are escaped (see escape) so that neither can contain
// the '#' separator: no id can spell another user's key.
const (
	attrPK     = "pk"
	attrSK     = "sk"
	attrListPK = "list_pk"
	attrListSK = "list_sk"

	// TTLAttribute holds each item's expiry in epoch seconds; DynamoDB's
	// TTL deletes items some time after it passes, and reads ignore them
	// from the moment it passes.
	TTLAttribute = "expires_at"
	// ListIndex is the global secondary index that lists a user's
	// conversations by last update. Only summaries carry its keys, so it
	// holds nothing else.
	ListIndex = "by_updated"

	// attrLost and attrInc are the summary's count of seqs that hold no
	// turn and its incarnation (see Append); attrTurns is its last seq.
	attrLost = "lost"
	attrInc  = "inc"

	summarySK  = "CONV"
	turnPrefix = "TURN#"

	// maxIDBytes bounds user and conversation ids so that escaped keys stay
	// within DynamoDB's limits (2048 bytes for a partition key, 1024 for a
	// sort key) even when every byte needs escaping.
	maxIDBytes = 256
)

// TableDefinition is the table the store expects: its keys, the list index
// and on-demand billing. CreateTable uses it and a test compares it with
// template.yaml, so the code and the deployed table cannot drift apart.
func TableDefinition(name string) *dynamodb.CreateTableInput {
	str := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(n string, t types.KeyType) types.KeySchemaElement {
		return types.KeySchemaElement{AttributeName: aws.String(n), KeyType: t}
	}
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{str(attrPK), str(attrSK), str(attrListPK), str(attrListSK)},
		KeySchema:            []types.KeySchemaElement{key(attrPK, types.KeyTypeHash), key(attrSK, types.KeyTypeRange)},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(ListIndex),
			KeySchema: []types.KeySchemaElement{key(attrListPK, types.KeyTypeHash), key(attrListSK, types.KeyTypeRange)},
			// Summaries are small and listing needs all of them.
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	}
}

// escape makes s safe inside a key: '%' and '#' become %25 and %23, so the
// result never holds the separator and distinct ids stay distinct.
func escape(s string) string {
	if !strings.ContainsAny(s, "%#") {
		return s
	}
	return strings.NewReplacer("%", "%25", "#", "%23").Replace(s)
}

func checkID(kind, id string) error {
	switch {
	case id == "":
		return chat.Errorf(chat.CodeInvalid, "the %s id is empty", kind)
	case len(id) > maxIDBytes:
		return chat.Errorf(chat.CodeInvalid, "the %s id is %d bytes; at most %d are allowed", kind, len(id), maxIDBytes)
	case !utf8.ValidString(id):
		return chat.Errorf(chat.CodeInvalid, "the %s id is not valid UTF-8", kind)
	}
	return nil
}

// convKey is where one user's conversation lives.
type convKey struct {
	user, conv string
}

func newConvKey(user, conv string) (convKey, error) {
	if err := checkID("user", user); err != nil {
		return convKey{}, err
	}
	if err := checkID("conversation", conv); err != nil {
		return convKey{}, err
	}
	return convKey{user: user, conv: conv}, nil
}

func userPartition(user string) string { return "USER#" + escape(user) }

func (k convKey) pk() string     { return userPartition(k.user) + "#CONV#" + escape(k.conv) }
func (k convKey) String() string { return k.pk() }

func turnSK(seq int) string { return fmt.Sprintf("%s%010d", turnPrefix, seq) }

// listSK orders a user's summaries by last update; the escaped id makes it
// unique, so the order of conversations updated in the same nanosecond is
// stable across pages.
func listSK(updated time.Time, conv string) string {
	return fmt.Sprintf("%020d#%s", updated.UnixNano(), escape(conv))
}
