module github.com/auditstream/auditstream/schemas

go 1.26

require github.com/twmb/avro v1.9.0
