package aveva

// Vendor and Product label every AVEVA event.
const (
	Vendor  = "aveva"
	Product = "AVEVA CONNECT"
)

// The reports of the Report data REST API.
const (
	ReportCreditsTransaction = "creditsTransaction"
	ReportUserUsage          = "userUsage"
	ReportServiceUsage       = "serviceUsage"
	ReportResourceUsage      = "resourceUsage"
	ReportAudit              = "audit"
)

// Parameter names, spelled as the API documents them.
const (
	// The dates of the usage reports (POST).
	ParamFromDate = "fromDate"
	ParamToDate   = "toDate"
	// The mandatory parameters of the audit report (GET).
	ParamRange = "range"
	ParamFrom  = "from"
	ParamTo    = "to"
	// ParamOffset is the audit report's UTC offset in minutes; the poller
	// always sends 0 so that the DateTime fields it reads are UTC.
	ParamOffset = "offset"

	ParamHostingType        = "hostingType"
	ParamProductName        = "productName"
	ParamProductCode        = "productCode"
	ParamUser               = "user"
	ParamFolder             = "folder"
	ParamService            = "service"
	ParamCreditsAgreementID = "creditsAgreementId"
	ParamResourceID         = "resourceId"
	ParamOperation          = "operation"
	ParamFunction           = "function"
	ParamLocale             = "locale"
)

// RangeCustom is the audit report's range that takes from and to.
const RangeCustom = "Custom"

// Report describes one report of the API.
type Report struct {
	// Name is the report's name in its path, e.g. "creditsTransaction".
	Name string
	// Audit is set for the audit report (GET /reports/v1/audit, audit
	// events); the others are usage reports (POST, usage events).
	Audit bool
	// Params are the optional parameters the report accepts, besides its
	// dates (and, for audit, range and offset).
	Params []string
}

// Reports are the five reports, as the API reference lists them.
var Reports = []Report{
	{Name: ReportCreditsTransaction, Params: []string{ParamHostingType, ParamProductName, ParamProductCode, ParamUser, ParamFolder, ParamService, ParamCreditsAgreementID}},
	{Name: ReportUserUsage, Params: []string{ParamUser, ParamFolder, ParamService}},
	{Name: ReportServiceUsage, Params: []string{ParamFolder, ParamService}},
	{Name: ReportResourceUsage, Params: []string{ParamFolder, ParamService, ParamResourceID}},
	{Name: ReportAudit, Audit: true, Params: []string{ParamLocale, ParamUser, ParamOperation, ParamFolder, ParamService, ParamFunction}},
}

// LookupReport returns the report called name.
func LookupReport(name string) (Report, bool) {
	for _, r := range Reports {
		if r.Name == name {
			return r, true
		}
	}
	return Report{}, false
}

// ReportNames returns the names of the reports in order.
func ReportNames() []string {
	out := make([]string, len(Reports))
	for i, r := range Reports {
		out[i] = r.Name
	}
	return out
}

// StreamName returns the stream of one report of a tenant, e.g.
// "aveva/acme/creditsTransaction". It is the checkpoint key and the events'
// stream field.
func StreamName(tenant, report string) string {
	return Vendor + "/" + tenant + "/" + report
}
