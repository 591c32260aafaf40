package device

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"pantavisor/lib/fsverity"
	"pantavisor/lib/storage"
)

func TestVerifyLine(t *testing.T) {
	assert.Equal(t, "verify: 9 objects: 5 by fs-verity digest, 2 hashed (1 sealed with fs-verity now), 2 skipped",
		verifyLine(storage.VerifyReport{Objects: 9, Measured: 5, Hashed: 2, Sealed: 1, Skipped: 2}))
	assert.Equal(t, "verify: 3 objects: 0 by fs-verity digest, 3 hashed (0 sealed with fs-verity now), 0 skipped; "+
		"fs-verity not used: FS_IOC_ENABLE_VERITY /storage/objects/x: fs-verity not supported",
		verifyLine(storage.VerifyReport{Objects: 3, Hashed: 3,
			Verity: fmt.Errorf("FS_IOC_ENABLE_VERITY /storage/objects/x: %w", fsverity.ErrUnsupported)}))
}
