package diagnose

import (
	"fmt"
	"time"

	"github.com/xpdoctor/xpdoctor/pkg/cluster"
	"github.com/xpdoctor/xpdoctor/pkg/findings"
)

// runtimeFindings read what the runtime's pods and Deployments say: the
// kubelet's waiting reasons name the cause a runtime hook message only
// summarises (revision/runtime_provider.go@v1.14.0 "deployment is unavailable").
func runtimeFindings(s *cluster.Snapshot, now time.Time, pods []cluster.Pod, deps []cluster.Deployment) []findings.Finding {
	var out []findings.Finding
	for _, pd := range pods {
		var podEvents []string
		for _, e := range s.EventsFor("Pod", pd.Name) {
			if e.Type == "Warning" {
				podEvents = append(podEvents, eventWhere(e, now)+": "+e.Message)
			}
		}
		start := len(out)
		for _, c := range pd.Containers {
			switch c.Waiting {
			case "ImagePullBackOff", "ErrImagePull", "InvalidImageName":
				out = append(out, findings.Finding{Code: findings.RuntimeImagePullFailed, Severity: findings.Error, Image: c.Image,
					Message:  fmt.Sprintf("pod %s/%s cannot pull %s (%s)", pd.Namespace, pd.Name, c.Image, c.Waiting),
					Evidence: []string{fmt.Sprintf("container %s waiting: %s: %s", c.Name, c.Waiting, c.WaitingMessage)}})
			case "CrashLoopBackOff":
				out = append(out, findings.Finding{Code: findings.RuntimeCrashLooping, Severity: findings.Error, Image: c.Image, Digest: digestOf(c.ImageID),
					Message:  fmt.Sprintf("pod %s/%s container %s restarts (%d restarts)", pd.Namespace, pd.Name, c.Name, c.RestartCount),
					Evidence: []string{fmt.Sprintf("last termination: %s (exit code %d)", c.LastTermination, c.ExitCode)}})
			}
		}
		for i := start; i < len(out); i++ {
			out[i].Evidence = append(out[i].Evidence, podEvents...)
		}
	}
	if len(out) == 0 {
		for _, d := range deps {
			if d.Replicas > 0 && d.Available < d.Replicas || d.Available == 0 {
				out = append(out, findings.Finding{Code: findings.RuntimeNotAvailable, Severity: findings.Error,
					Message: fmt.Sprintf("deployment %s/%s has %d of %d replicas available", d.Namespace, d.Name, d.Available, d.Replicas)})
			}
		}
	}
	return out
}
