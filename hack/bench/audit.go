package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
)

// auditEvent holds the fields of an audit log line (audit.k8s.io/v1 Event) the bench reads.
type auditEvent struct {
	Stage string `json:"stage"`
	Verb  string `json:"verb"`
	User  struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// writeVerbs are the verbs that change objects.
var writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}

// writeKey is a verb on a resource, with its subresource ("contentposts/status").
type writeKey struct{ verb, resource string }

// writeCounts are the writes in a run's namespace, from the audit log.
type writeCounts struct {
	// manager counts the managers' writes by verb and resource; conflicts and failed count those
	// answered 409 Conflict and those that failed otherwise, and failedCodes the latter by code.
	manager, conflicts, failed map[writeKey]int
	failedCodes                map[int]int
	// shardWrites and shardConflicts count the managers' writes and conflicts on each shard's
	// objects. Every manager is the same user, so the object a write is about tells the shard.
	shardWrites, shardConflicts []int
	// byUser counts everyone's writes in the namespace.
	byUser map[string]int
}

// countWrites reads the audit log for the writes made in namespace.
func countWrites(path, namespace string, shards int) (writeCounts, error) {
	counts := writeCounts{manager: map[writeKey]int{}, conflicts: map[writeKey]int{}, failed: map[writeKey]int{},
		failedCodes: map[int]int{}, shardWrites: make([]int, shards), shardConflicts: make([]int, shards), byUser: map[string]int{}}
	f, err := os.Open(path)
	if err != nil {
		return counts, fmt.Errorf("reading the audit log: %w", err)
	}
	defer func() { _ = f.Close() }()
	decoder := json.NewDecoder(f)
	for {
		var e auditEvent
		err := decoder.Decode(&e)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// The API server may be writing the last line right now; it is not this run's.
			return counts, nil
		}
		if err != nil {
			return counts, fmt.Errorf("reading the audit log %s: %w", path, err)
		}
		if e.Stage != "ResponseComplete" || e.ObjectRef == nil || e.ObjectRef.Namespace != namespace ||
			!slices.Contains(writeVerbs, e.Verb) {
			continue
		}
		counts.add(e, shards)
	}
}

func (w *writeCounts) add(e auditEvent, shards int) {
	w.byUser[e.User.Username]++
	if e.User.Username != managerUser {
		return
	}
	shard, known := shardOfObject(e.ObjectRef.Name, shards)
	key := writeKey{verb: e.Verb, resource: e.ObjectRef.Resource}
	if e.ObjectRef.Subresource != "" {
		key.resource += "/" + e.ObjectRef.Subresource
	}
	w.manager[key]++
	if known {
		w.shardWrites[shard]++
	}
	code := 0
	if e.ResponseStatus != nil {
		code = e.ResponseStatus.Code
	}
	switch {
	case code == http.StatusConflict:
		w.conflicts[key]++
		if known {
			w.shardConflicts[shard]++
		}
	case code >= http.StatusBadRequest:
		w.failed[key]++
		w.failedCodes[code]++
	}
}

// shardOfObject returns the shard of the object a manager wrote, from its name: a post's
// sign-offs, Events, Jobs and ConfigMaps are named after the post ("post-00042-dept-0",
// "post-00042.1849f3…"), and each shard's policy after the shard.
func shardOfObject(name string, shards int) (int, bool) {
	for prefix, shardOf := range map[string]func(int) int{
		"post-":       func(i int) int { return i % shards },
		"bench-shard": func(i int) int { return i },
	} {
		if digits, ok := strings.CutPrefix(name, prefix); ok {
			end := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' })
			if end == -1 {
				end = len(digits)
			}
			if i, err := strconv.Atoi(digits[:end]); err == nil && shardOf(i) < shards {
				return shardOf(i), true
			}
		}
	}
	return 0, false
}
