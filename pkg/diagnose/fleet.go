package diagnose

// FleetKind is the kind of a report over several kubeconfig contexts.
const FleetKind = "FleetDiagnoseReport"

// FleetReport is diagnose over several clusters (--context a,b,c or
// --all-contexts): each cluster's DiagnoseReport, keyed by its kubeconfig
// context, or why it could not be read.
type FleetReport struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Contexts are the contexts read, in the order given.
	Contexts []string `json:"contexts"`
	// Clusters are keyed by context.
	Clusters map[string]ClusterReport `json:"clusters"`
}

// ClusterReport is one cluster of a FleetReport: its report, or the error
// that kept it from being read.
type ClusterReport struct {
	Error  string  `json:"error,omitempty"`
	Report *Report `json:"report,omitempty"`
}

// NewFleetReport is an empty report over contexts.
func NewFleetReport(contexts []string) *FleetReport {
	return &FleetReport{APIVersion: APIVersion, Kind: FleetKind, Contexts: contexts, Clusters: map[string]ClusterReport{}}
}

// Read counts the clusters that were read.
func (f *FleetReport) Read() int {
	n := 0
	for _, c := range f.Clusters {
		if c.Report != nil {
			n++
		}
	}
	return n
}
