package preflight

// FleetKind is the kind of a preflight over several kubeconfig contexts.
const FleetKind = "FleetPreflightReport"

// FleetReport is a preflight of several clusters (--context a,b,c or
// --all-contexts) to one target: each cluster's PreflightReport, keyed by
// its kubeconfig context, or why it could not be read.
type FleetReport struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Target     string `json:"targetVersion"`
	// Status is the worst of the clusters'; a cluster not read is Unknown.
	Status Status `json:"status"`
	// Contexts are the contexts read, in the order given.
	Contexts []string `json:"contexts"`
	// Clusters are keyed by context.
	Clusters map[string]ClusterReport `json:"clusters"`
}

// ClusterReport is one cluster of a FleetReport.
type ClusterReport struct {
	Error  string  `json:"error,omitempty"`
	Report *Report `json:"report,omitempty"`
}

// NewFleetReport combines the clusters' reports (a nil report: errs has why).
func NewFleetReport(target string, contexts []string, reports []*Report, errs []error) *FleetReport {
	f := &FleetReport{APIVersion: APIVersion, Kind: FleetKind, Target: target, Status: Safe, Contexts: contexts, Clusters: map[string]ClusterReport{}}
	for i, name := range contexts {
		if reports[i] == nil {
			f.Clusters[name] = ClusterReport{Error: errs[i].Error()}
			f.Status = worst(f.Status, Unknown)
			continue
		}
		f.Clusters[name] = ClusterReport{Report: reports[i]}
		f.Status = worst(f.Status, reports[i].Status)
	}
	return f
}

// ExitCode is the worst cluster's: 1 when something breaks or degrades
// anywhere, else 2 when a cluster could not be read or told, else 0.
func (f *FleetReport) ExitCode() int {
	return (&Report{Status: f.Status}).ExitCode()
}
