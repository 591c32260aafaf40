package early

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestString(t *testing.T) {
	for want, c := range map[string]Creator{
		"dir /a/b (750)": Dir{"/a/b", 0o750},
		"mount proc on /proc type proc (nosuid,nodev,noexec)": Mount{"proc", "/proc", "proc", "",
			unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		"mount run on /run type tmpfs (rw,mode=0755)":  Mount{"run", "/run", "tmpfs", "mode=0755", 0},
		"node /dev/null 1:3":                           Node{"/dev/null", unix.S_IFCHR | 0o666, 1, 3},
		"symlink /dev/fd -> /proc/self/fd":             Symlink{"/proc/self/fd", "/dev/fd"},
		"symlink /dev/ptmx -> pts/ptmx":                Optional{Symlink{"pts/ptmx", "/dev/ptmx"}},
		"node /dev/console 5:1":                        Node{"/dev/console", unix.S_IFCHR | 0o600, 5, 1},
		"mount a on b type c (ro,bind,0x80000000,x=1)": Mount{"a", "b", "c", "x=1", unix.MS_RDONLY | unix.MS_BIND | 1<<31},
	} {
		assert.Equal(t, want, c.String())
	}
	f := Failure{Step: Dir{"/x", 0o755}, Err: unix.EROFS}
	assert.Equal(t, "dir /x (755): read-only file system", f.Error())
}

// fake is a step that records that it ran and returns err.
type fake struct {
	name string
	err  error
	ran  *[]string
}

func (f fake) Create() error  { *f.ran = append(*f.ran, f.name); return f.err }
func (f fake) String() string { return f.name }

func TestRunStopsAtFirstRequiredFailure(t *testing.T) {
	var ran []string
	boom, meh := errors.New("boom"), errors.New("meh")
	steps := []Creator{
		fake{"a", nil, &ran},
		Optional{fake{"opt", meh, &ran}},
		fake{"b", nil, &ran},
		fake{"bad", boom, &ran},
		fake{"never", nil, &ran},
	}
	fails := Run(steps)
	assert.Equal(t, []string{"a", "opt", "b", "bad"}, ran)
	require.Len(t, fails, 2)
	assert.Equal(t, Failure{Step: fake{"opt", meh, &ran}, Err: meh, Optional: true}, fails[0])
	assert.Equal(t, Failure{Step: fake{"bad", boom, &ran}, Err: boom, Optional: false}, fails[1])
}

func TestRunAllGood(t *testing.T) {
	var ran []string
	assert.Empty(t, Run([]Creator{fake{"a", nil, &ran}, Optional{fake{"b", nil, &ran}}}))
	assert.Equal(t, []string{"a", "b"}, ran)
	assert.Empty(t, Run(nil))
}

// TestDefault pins the early boot list: order matters (devpts needs /dev)
// and only the conveniences are optional.
func TestDefault(t *testing.T) {
	var got []string
	var optional []string
	for _, c := range Default() {
		if o, ok := c.(Optional); ok {
			optional = append(optional, o.String())
		}
		got = append(got, c.String())
	}
	assert.Equal(t, []string{
		"mount proc on /proc type proc (nosuid,nodev,noexec)",
		"mount sysfs on /sys type sysfs (nosuid,nodev,noexec)",
		"mount devtmpfs on /dev type devtmpfs (nosuid,mode=0755)",
		"node /dev/console 5:1",
		"node /dev/null 1:3",
		"mount devpts on /dev/pts type devpts (nosuid,noexec,gid=5,mode=0620,ptmxmode=0666)",
		"symlink /dev/ptmx -> pts/ptmx",
		"mount shm on /dev/shm type tmpfs (nosuid,nodev,mode=1777)",
		"mount run on /run type tmpfs (nosuid,nodev,mode=0755)",
		"symlink /dev/fd -> /proc/self/fd",
	}, got)
	assert.Equal(t, []string{
		"symlink /dev/ptmx -> pts/ptmx",
		"mount shm on /dev/shm type tmpfs (nosuid,nodev,mode=1777)",
		"symlink /dev/fd -> /proc/self/fd",
	}, optional)
}
