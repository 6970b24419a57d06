module github.com/auditstream/auditstream/tools/devstack

go 1.26

require (
	github.com/auditstream/auditstream/schemas v0.0.0
	github.com/auditstream/auditstream/services/poller-aveva v0.0.0
	github.com/auditstream/auditstream/services/poller-epm v0.0.0
	github.com/auditstream/auditstream/services/poller-plm v0.0.0
	github.com/auditstream/auditstream/shared v0.0.0
)

replace (
	github.com/auditstream/auditstream/schemas => ../../schemas
	github.com/auditstream/auditstream/services/poller-aveva => ../../services/poller-aveva
	github.com/auditstream/auditstream/services/poller-epm => ../../services/poller-epm
	github.com/auditstream/auditstream/services/poller-plm => ../../services/poller-plm
	github.com/auditstream/auditstream/shared => ../../shared
)
