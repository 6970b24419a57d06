module github.com/auditstream/auditstream/services/poller-aveva

go 1.26

require (
	github.com/auditstream/auditstream/schemas v0.0.0
	github.com/auditstream/auditstream/shared v0.0.0
)

replace (
	github.com/auditstream/auditstream/schemas => ../../schemas
	github.com/auditstream/auditstream/shared => ../../shared
)
