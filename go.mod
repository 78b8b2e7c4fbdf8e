module github.com/datachat/datachat

go 1.26

require github.com/google/jsonschema-go v0.4.3

require github.com/google/uuid v1.6.0 // indirect
