// Package transfer is xpdoctor's one copy engine. mirror, mirror --closure,
// fix, export (to oci:DIR or oci-archive:FILE) and import (from either) all
// call it, in three steps:
//
//   - Plan reads the source graphs (manifests only) and what each destination
//     holds, and changes nothing.
//   - Execute copies what is missing (blobs, then manifests children first),
//     checking every byte it moves against its digest, verifies the
//     destination graph, and only then points the tag at it, so that no tag
//     ever names content that is not there.
//   - Verify proves a destination holds a plan's graph: every manifest read
//     back by digest and compared byte for byte, every blob's presence and
//     size, and with VerifyFull every blob re-read and hashed.
//
// Endpoints are a registry reference, an OCI image layout directory
// (oci:DIR) or a tarball of one (oci-archive:FILE), read in place. The
// package knows registries and OCI; it imports nothing from Kubernetes.
package transfer
