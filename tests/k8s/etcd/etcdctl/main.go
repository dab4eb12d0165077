// Command etcdctl is etcd's v3 client, built here so tests can force a compaction (410 Gone).
package main

import "go.etcd.io/etcd/etcdctl/v3/ctlv3"

func main() {
	ctlv3.MustStart()
}
