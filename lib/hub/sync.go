package hub

import (
	"context"
	"strings"
	"time"

	"pantavisor/lib/hub/proto"
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// object is one object of a state: its path name and sha256.
type object struct {
	name, sha string
}

// stateObjects lists the objects of a state JSON: every member except
// "#spec" and the keys ending in ".json", whose value must be a sha256
// (proto.CheckSha). The names are not used as paths.
func stateObjects(data []byte) ([]object, error) {
	v, err := rawjson.Parse(data)
	if err != nil {
		return nil, err
	}
	if v.Kind != rawjson.Object {
		return nil, printf.Errorf("state is a %s, want an object", v.Kind)
	}
	var out []object
	for _, m := range v.Members {
		if m.Key == "#spec" || strings.HasSuffix(m.Key, ".json") {
			continue
		}
		if m.Value.Kind != rawjson.String {
			return nil, printf.Errorf("object %q is a %s, want a sha256 string", m.Key, m.Value.Kind)
		}
		if err := proto.CheckSha(m.Value.Str); err != nil {
			return nil, printf.Errorf("object %q: %w", m.Key, err)
		}
		out = append(out, object{m.Key, m.Value.Str})
	}
	return out, nil
}

// waitHub runs GET /trails/ every ReqInterval: a trail means synced (go
// idle), none means the factory revision must be uploaded first.
func (a *Agent) waitHub(ctx context.Context, now time.Time) {
	a.setName(StateWaitHub)
	if !due(&a.next, now, ReqInterval) {
		return
	}
	_, body, err := a.request(ctx, true, "GET", proto.TrailsPath, nil, nil)
	if err != nil {
		a.logf("hub: listing trails: %v", err)
		return
	}
	synced, err := proto.ParseTrails(body)
	if err != nil {
		a.logf("hub: listing trails: %v", err)
		return
	}
	if synced {
		a.synced = true
		a.setName(StateIdle)
		return
	}
	a.setName(StateSync)
	if err := a.factorySync(ctx); err != nil {
		a.logf("hub: factory sync: %v", err)
		return
	}
	a.logf("hub: factory revision %s uploaded", a.dev.Running().Rev)
	a.next = now // see the trail at once
}

// factorySync uploads the running revision: each object (POST /objects/;
// 409: the hub has it; 200: PUT the bytes to the signed URL's path on
// the hub), then POST /trails/ with the raw state.
func (a *Agent) factorySync(ctx context.Context) error {
	run := a.dev.Running()
	objs, err := stateObjects(run.State)
	if err != nil {
		return printf.Errorf("revision %s: %w", run.Rev, err)
	}
	for _, o := range objs {
		if err := a.uploadObject(ctx, o); err != nil {
			return err
		}
	}
	_, _, err = a.request(ctx, true, "POST", proto.TrailsPath, run.State, nil)
	return err
}

// uploadObject uploads one object of the factory revision.
func (a *Agent) uploadObject(ctx context.Context, o object) error {
	f, err := a.o.Storage.OpenObject(o.sha)
	if err != nil {
		return printf.Errorf("object %q: %w", o.name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return printf.Errorf("object %q: %w", o.name, err)
	}
	body := proto.AppendObjectPost(nil, o.name, fi.Size(), o.sha)
	status, data, err := a.request(ctx, true, "POST", proto.ObjectsPath, body, nil, 200, 409)
	if err != nil || status == 409 {
		return err
	}
	u, err := proto.ParsePutURL(data)
	if err == nil {
		u, err = proto.UploadPath(u)
	}
	if err != nil {
		return printf.Errorf("object %q: %w", o.name, err)
	}
	if _, _, err := a.send(ctx, "PUT", u, f, fi.Size()); err != nil {
		return printf.Errorf("uploading object %q: %w", o.name, err)
	}
	return nil
}
