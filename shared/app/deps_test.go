package app_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection keeps the layering of the style guide true:
// the domain depends on no adapter, adapters do not depend on each other,
// and only the functions import the Lambda runtime.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-json", "github.com/datachat/datachat/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/datachat/datachat/"
	adapters := []string{"shared/embedded", "shared/offline", "shared/openai", "shared/weaviate", "shared/dynamo", "shared/secrets"}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		self := strings.TrimPrefix(p.ImportPath, mod)
		for _, imp := range p.Imports {
			dep := strings.TrimPrefix(imp, mod)
			switch {
			case self == "shared/chat" && strings.HasPrefix(imp, mod):
				t.Errorf("shared/chat imports %s; the domain depends on no other package of the project", dep)
			case strings.HasPrefix(imp, "github.com/aws/aws-lambda-go") && !strings.HasPrefix(self, "functions/"):
				t.Errorf("%s imports %s; only functions/* talk to the Lambda runtime", self, imp)
			}
			for _, a := range adapters {
				if strings.HasPrefix(self, a) && dep != self && strings.HasPrefix(imp, mod) {
					for _, b := range adapters {
						if b != a && strings.HasPrefix(dep, b) {
							t.Errorf("adapter %s imports adapter %s", self, dep)
						}
					}
				}
			}
		}
	}
}
