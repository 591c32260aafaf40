package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// run runs a host tool in dir ("" = current) and returns an error naming
// the command with its output when it fails.
func run(ctx context.Context, dir, name string, args ...string) error {
	_, err := command(ctx, dir, nil, name, args...)
	return err
}

// runIn is run with stdin.
func runIn(ctx context.Context, stdin io.Reader, name string, args ...string) error {
	_, err := command(ctx, "", stdin, name, args...)
	return err
}

// output runs a host tool and returns its stdout.
func output(ctx context.Context, name string, args ...string) ([]byte, error) {
	return command(ctx, "", nil, name, args...)
}

func command(ctx context.Context, dir string, stdin io.Reader, name string, args ...string) ([]byte, error) {
	return commandIn(ctx, dir, stdin, nil, name, args...)
}

// commandEnv is output with more environment variables ("K=V").
func commandEnv(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	return commandIn(ctx, "", nil, env, name, args...)
}

func commandIn(ctx context.Context, dir string, stdin io.Reader, env []string, name string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = dir, stdin, &stdout, &stderr
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w\n%s%s", name, strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes(), nil
}
