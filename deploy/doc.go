// Package deploy holds the offline checks of auditstream's deployment
// files: the Dockerfiles (generated from Dockerfile.tmpl), .dockerignore,
// docker-compose.yml with its observability profile, and the kustomize
// base and overlays under k8s/. `go test` in this module builds each
// poller, asks it which environment variables it declares (-env) and
// whether a configuration validates (-healthcheck exits 2 on an invalid
// one), and fails when a deployment file and a service drift apart.
//
// Its command httpcheck is the health check of the simulator images.
package deploy

// Poller is one deployed poller, services/poller-<Vendor>, whose simulator
// is services/poller-<Vendor>/cmd/<Vendor>sim.
type Poller struct {
	// Vendor is the vendor's short name, e.g. "plm".
	Vendor string
}

// Service is the poller's binary and image name, e.g. "poller-plm".
func (p Poller) Service() string { return "poller-" + p.Vendor }

// Simulator is the simulator's binary and image name, e.g. "plmsim".
func (p Poller) Simulator() string { return p.Vendor + "sim" }

// Dir is the service's directory from the repository root.
func (p Poller) Dir() string { return "services/" + p.Service() }

// Pollers are the pollers that the deployment files cover. Adding one
// (services/poller-<vendor> with main.go and cmd/<vendor>sim):
//
//  1. add it here;
//  2. generate its Dockerfile: go test -run TestDockerfiles -update;
//  3. add its <vendor>sim and poller-<vendor> services to docker-compose.yml
//     and its target to observability/prometheus.yml;
//  4. copy k8s/base/pollers/plm, k8s/overlays/dev/plm and
//     k8s/overlays/prod/plm to <vendor>, set its variables
//     (poller-<vendor> -env lists them), and list the new directories in
//     their kustomization.yaml files.
//
// The tests fail until each step is done, and when a poller exists under
// services/ without an entry here.
var Pollers = []Poller{
	{Vendor: "aveva"},
	{Vendor: "epm"},
	{Vendor: "oracle"},
	{Vendor: "plm"},
	{Vendor: "revenera"},
}
