# datachat: the developer's commands. `make help` lists them.
SHELL := bash
GO    ?= go
PORT  ?= 3000
USER  ?= demo
# SAM's makefile build method sets ARTIFACTS_DIR; locally, bin/.
ARTIFACTS_DIR ?= bin
LAMBDA_FLAGS := -trimpath -tags lambda.norpc -ldflags="-s -w"

.PHONY: help run token table seed test vet build build-ApiFunction build-AuthorizerFunction build-WorkerFunction deploy clean web-vendor

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

run: ## serve the API on 127.0.0.1:$(PORT) with embedded defaults (no credentials needed)
	PORT=$(PORT) $(GO) run ./cmd/datachat serve

token: ## print a bearer token for USER (make token USER=alice)
	@$(GO) run ./cmd/datachat token -user "$(USER)"

table: ## create TABLE_NAME on a local DynamoDB (AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000)
	$(GO) run ./cmd/datachat table

seed: ## load the sample data into the Weaviate at WEAVIATE_URL (idempotent)
	$(GO) run ./cmd/datachat seed

test: ## what CI runs: start the test servers, go vet, go test -race
	./scripts/test.sh

# The chart libraries the page ships, copied unchanged from node_modules
# (pinned by package-lock.json); make test fails when the copies differ.
WEB_VENDOR := vega/build/vega.min.js vega-lite/build/vega-lite.min.js vega-embed/build/vega-embed.min.js
web-vendor: ## copy vega, vega-lite and vega-embed from node_modules into shared/web/assets/vendor (after npm ci)
	@for f in $(WEB_VENDOR); do cp node_modules/$$f shared/web/assets/vendor/ && echo "shared/web/assets/vendor/$${f##*/}"; done

vet: ## go vet only
	$(GO) vet ./...

build: ## build every Lambda function for arm64 into $(ARTIFACTS_DIR)
	$(MAKE) build-ApiFunction ARTIFACTS_DIR=$(ARTIFACTS_DIR)/ApiFunction
	$(MAKE) build-AuthorizerFunction ARTIFACTS_DIR=$(ARTIFACTS_DIR)/AuthorizerFunction
	$(MAKE) build-WorkerFunction ARTIFACTS_DIR=$(ARTIFACTS_DIR)/WorkerFunction

# One target per function in template.yaml, as `sam build` expects.
build-ApiFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api

build-WorkerFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/worker

# Deployed only with JwtIssuer set (the Lambda authorizer of another identity provider).
build-AuthorizerFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/authorizer

deploy: ## sam build && sam deploy (samconfig.toml holds the settings)
	sam build && sam deploy

clean: ## remove build output
	rm -rf bin .aws-sam
