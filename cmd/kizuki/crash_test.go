package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/journal"
)

// childArgsEnv, when set, makes the test binary run kizuki with these
// arguments (separated by \x1f) instead of the tests: the crash test kills
// a real server process.
const childArgsEnv = "KIZUKI_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childArgsEnv); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		root := newRoot(os.Stdin, os.Stdout, os.Stderr)
		root.SetArgs(strings.Split(args, "\x1f"))
		if err := root.ExecuteContext(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "kizuki:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startChild runs `kizuki serve` in a child process and returns it with the
// HTTPS port it announced.
func startChild(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+strings.Join(args, "\x1f"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`HTTPS API on 127\.0\.0\.1:(\d+)`)
	ports := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				ports <- m[1]
			}
		}
	}()
	select {
	case p := <-ports:
		return cmd, p
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the child server did not start")
	}
	return nil, ""
}

// kill -9 during sustained ingest, restart: every acknowledged event (an
// HTTP 200) is in the journal exactly once, the torn tail is repaired at
// start, and kizuki verify passes.
func TestServeKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the crash test runs server processes")
	}
	data, key := keyed(t)
	args := append([]string{"serve", "--data", data, "--key", key}, apiOnly()...)
	acked := map[string]bool{}
	var mu sync.Mutex
	for round := range 3 {
		cmd, port := startChild(t, args...)
		token, err := os.ReadFile(filepath.Join(data, "admin-token"))
		if err != nil {
			t.Fatal(err)
		}
		client := apiClient(t, data)
		// Four senders post batches until the server dies under them.
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for s := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := 0; ; b++ {
					select {
					case <-stop:
						return
					default:
					}
					var lines []string
					for i := range 50 {
						lines = append(lines, fmt.Sprintf("round %d sender %d batch %d line %d", round, s, b, i))
					}
					req, _ := http.NewRequest("POST", "https://127.0.0.1:"+port+"/api/v1/ingest", strings.NewReader(strings.Join(lines, "\n")))
					req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
					resp, err := client.Do(req)
					if err != nil {
						return // the server is gone
					}
					resp.Body.Close()
					if resp.StatusCode == 200 {
						mu.Lock()
						for _, l := range lines {
							acked[l] = true
						}
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		close(stop)
		wg.Wait()
	}
	// A last clean start and stop: Open repairs what the kills tore.
	cmd, _ := startChild(t, args...)
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}

	seen := map[string]int{}
	if err := journal.Iterate(context.Background(), filepath.Join(data, "journal"), 0, func(r journal.Record) error {
		seen[string(r.Raw)]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(acked) < 1000 {
		t.Fatalf("only %d events acknowledged: the test did not load the server", len(acked))
	}
	for l := range acked {
		if seen[l] != 1 {
			t.Errorf("acknowledged %q stored %d times", l, seen[l])
		}
	}
	for l, n := range seen {
		if n != 1 {
			t.Errorf("%q stored %d times", l, n)
		}
	}
	stdout, _, err := run(t, "", "verify", "--data", data, "--pub", key+".pub")
	if err != nil {
		t.Fatalf("verify after kill -9: %v\n%s", err, stdout)
	}
	t.Logf("%d events acknowledged over 3 kills, %d stored", len(acked), len(seen))
}
