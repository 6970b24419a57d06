module github.com/auditstream/auditstream/schemas

go 1.26
