package hooks

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunOrderEnvAndFailure(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), mode))
	}
	write("20-second", `echo second $PV_OP $PV_REV $PV_TRY $PV_TRYBOOT $PV_TRAILS_STORAGE`, 0o755)
	write("10-first", `echo first $PV_STATUS $PV_OBJ_STORAGE`, 0o755)
	write("15-not-executable", `echo never`, 0o644)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "17-dir"), 0o755))
	res, err := Run(dir, Env{Op: SystemStart, Rev: "3", Try: "3", Status: "READY", Storage: "/s"})
	require.NoError(t, err)
	require.Len(t, res, 2)
	assert.Equal(t, "first READY /s/objects/\n", string(res[0].Output))
	assert.Equal(t, "second system-start 3 3 true /s/trails/3\n", string(res[1].Output))

	write("12-fails", `echo broken; exit 5`, 0o755)
	res, err = Run(dir, Env{Op: SystemDone, Rev: "3"})
	require.Error(t, err)
	assert.ErrorContains(t, err, "12-fails (system-done): exit status 5")
	require.Len(t, res, 2, "the hooks after a failing one do not run")
	assert.Equal(t, "broken\n", string(res[1].Output))

	res, err = Run(filepath.Join(dir, "missing"), Env{})
	assert.NoError(t, err)
	assert.Empty(t, res)
}
