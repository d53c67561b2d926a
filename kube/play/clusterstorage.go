package play

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/podbay/podbay/podspec"
)

// clusterStorage names the storage a volume source needs a cluster for
// (its field name: nfs, csi, ...), or "" when the source is not one of them.
func clusterStorage(s *corev1.VolumeSource) string {
	for _, c := range []struct {
		name string
		set  bool
	}{
		{"nfs", s.NFS != nil}, {"iscsi", s.ISCSI != nil}, {"cephfs", s.CephFS != nil}, {"rbd", s.RBD != nil},
		{"glusterfs", s.Glusterfs != nil}, {"csi", s.CSI != nil}, {"cinder", s.Cinder != nil},
		{"azureDisk", s.AzureDisk != nil}, {"azureFile", s.AzureFile != nil}, {"vsphereVolume", s.VsphereVolume != nil},
		{"portworxVolume", s.PortworxVolume != nil}, {"flexVolume", s.FlexVolume != nil},
		{"gcePersistentDisk", s.GCEPersistentDisk != nil}, {"awsElasticBlockStore", s.AWSElasticBlockStore != nil},
		{"fc", s.FC != nil}, {"flocker", s.Flocker != nil}, {"quobyte", s.Quobyte != nil}, {"scaleIO", s.ScaleIO != nil},
		{"storageos", s.StorageOS != nil}, {"photonPersistentDisk", s.PhotonPersistentDisk != nil},
	} {
		if c.set {
			return c.name
		}
	}
	return ""
}

// substitute plays storage that only a cluster has as a local named
// volume, so the pod still runs: one volume per workload and volume name
// (<workload>-<volume>), shared by the workload's replicas as the cluster's
// storage would be, kept after kube down like a claim (kube down --force
// removes it) and found again by the next play. A warning names the
// volume, its type and the substitute; --strict refuses it.
func (p *podBuilder) substitute(out *podspec.Volume, typ, rel string) {
	owner := p.inst.name
	if p.inst.owner != nil {
		owner = p.inst.owner.Name
	}
	name := owner + "-" + out.Name
	out.Kind, out.ClaimName, out.Substitutes = podspec.VolumePVC, name, typ
	p.warn(rel+"."+typ, "volume %q is %s storage, which only a cluster has: played as the local named volume %q "+
		"(kept after kube down; --force removes it)", out.Name, typ, name)
	for _, v := range p.t.play.Volumes {
		if v.Name == name {
			return
		}
	}
	p.t.play.Volumes = append(p.t.play.Volumes, NamedVolume{Name: name, Namespace: p.ns,
		Labels: map[string]string{SubstituteLabel: typ}})
}

// SubstituteLabel marks a named volume that stands in for cluster storage;
// its value is the storage type.
const SubstituteLabel = "podbay.io/substitutes"
