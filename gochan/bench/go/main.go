// Command gochanbench runs gochan's benchmark scenarios on Go's own channels,
// goroutines and timers: the "go" reference column of python -m gochan.bench.
//
//	gochanbench -scenario NAME -mode full|quick|smoke -repeats N [-warmup=false]
//	gochanbench -list
//
// It prints one JSON document on stdout, the same as python -m gochan.bench._cell:
// one sample per repeat, {"figures": {KEY: value}, "wall_s": s, "cpu_s": s}, where
// KEY is "" for a scenario with one figure ("p50", "p99", "arm" otherwise). The
// Python runner computes the median and spread. -list prints every scenario with
// its figure keys. A failed check (a lost item, a wrong prime) prints a message
// on stderr and exits with status 1.
//
// Each scenario mirrors its Python twin in gochan/bench (_channels.py,
// _select.py, _timers.py, _signals.py, _context.py, _scale.py): same sizes per
// mode, same units, same checks, same clock reads. Where the Python scenario
// says "thread", this program uses a goroutine, scheduled by the Go runtime
// over GOMAXPROCS threads (by default one per CPU); that is how a Go program
// would do it. The
// memory scenarios count Go heap bytes (runtime.MemStats.HeapAlloc after a
// collection) rather than RSS, since the Go heap reserves address space in
// large arenas and RSS would count pages reserved but not yet used.
//
// Standard library only, and it builds with Go 1.19 (Debian's golang-go).
// Go 1.19's timer channels predate Go 1.23's synchronous (unbuffered) timer
// channels and garbage-collectable unstopped timers; neither matters here,
// since every timer is received or kept referenced until the figure is taken.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"os/signal"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// ---------------------------------------------------------------- plumbing

// budget is how much work one repeat does, as gochan.bench._registry.Budget.
type budget string

func (b budget) pick(full, quick, smoke int) int {
	switch b {
	case "full":
		return full
	case "quick":
		return quick
	}
	return smoke
}

// seconds is how long a throughput loop runs (it stops at the first step past it).
func (b budget) seconds() time.Duration {
	switch b {
	case "full":
		return 500 * time.Millisecond
	case "quick":
		return 100 * time.Millisecond
	}
	return 2 * time.Millisecond
}

type figures map[string]float64

// one is the figures of a scenario with a single figure.
func one(x float64) figures { return figures{"": x} }

type scenario struct {
	keys []string
	run  func(budget) figures
}

var scenarios = map[string]scenario{
	"buffered_same_thread":   {[]string{""}, buffered},
	"unbuffered_pingpong":    {[]string{""}, pingpong},
	"prodcons_4x4":           {[]string{""}, prodcons},
	"close_broadcast_100":    {[]string{""}, closeBroadcast},
	"chan_memory":            {[]string{""}, chanMemory},
	"sieve":                  {[]string{""}, sieve},
	"buffered_cpu_bystander": {[]string{""}, bystander},
	"select2_ready":          {[]string{""}, select2Ready},
	"select8_default":        {[]string{""}, select8Default},
	"select64_blocking":      {[]string{""}, select64Blocking},
	"timer_latency":          {[]string{"p50", "p99"}, timerLatency},
	"timer_storm_1000":       {[]string{"arm", "p99"}, timerStorm},
	"timer_memory":           {[]string{""}, timerMemory},
	"signal_latency":         {[]string{"p50", "p99"}, signalLatency},
	"signal_idle_cpu":        {[]string{""}, signalIdleCPU},
	"context_timeout_cancel": {[]string{""}, contextTimeoutCancel},
	"context_memory":         {[]string{""}, contextMemory},
	"context_cancel_tree":    {[]string{""}, contextCancelTree},
	"scale_threads":          {sizeKeys([]string{""}, scalePairs), scaleThreads},
	"scale_select":           {sizeKeys([]string{""}, scaleCases), scaleSelect},
	"scale_timers":           {sizeKeys([]string{"arm", "p50"}, scalePending), scaleTimers},
}

type sample struct {
	Figures figures `json:"figures"`
	WallS   float64 `json:"wall_s"`
	CPUS    float64 `json:"cpu_s"`
}

// fail reports a wrong result (gochan.bench's BenchError) and exits.
func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "BenchError: "+format+"\n", args...)
	os.Exit(1)
}

// clock reads a clock_gettime clock in nanoseconds (no vDSO: a system call).
func clock(id uintptr) int64 {
	var ts syscall.Timespec
	if _, _, e := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, id, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		panic(e)
	}
	return ts.Nano()
}

const (
	clockMonotonic        = 1 // CLOCK_MONOTONIC: Python's time.monotonic(), one clock for every process
	clockProcessCPUTimeID = 2 // CLOCK_PROCESS_CPUTIME_ID: Python's time.process_time()
)

// processCPU is the CPU seconds used by every thread of the process so far.
func processCPU() float64 { return float64(clock(clockProcessCPUTimeID)) / 1e9 }

func main() {
	name := flag.String("scenario", "", "scenario to run")
	mode := flag.String("mode", "full", "full, quick or smoke")
	repeats := flag.Int("repeats", 5, "repeats")
	warmup := flag.Bool("warmup", true, "run once at smoke size before the repeats")
	list := flag.Bool("list", false, "print every scenario and its figure keys as JSON")
	durations := flag.Bool("storm-durations", false, "print timer_storm_1000's durations as JSON (for a test)")
	senderPid := flag.Int("signal-sender", 0, "internal: be signal_latency's sender process, signalling this pid")
	senderCount := flag.Int("signal-count", 0, "internal: how many signals the sender sends")
	flag.Parse()

	out := json.NewEncoder(os.Stdout)
	switch {
	case *senderPid != 0:
		signalSender(*senderPid, *senderCount)
		return
	case *list:
		keys := map[string][]string{}
		for n, sc := range scenarios {
			keys[n] = sc.keys
		}
		out.Encode(keys)
		return
	case *durations:
		out.Encode(stormDurations())
		return
	}
	sc, ok := scenarios[*name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown scenario %q\n", *name)
		os.Exit(2)
	}
	if *mode != "full" && *mode != "quick" && *mode != "smoke" {
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", *mode)
		os.Exit(2)
	}
	if *warmup {
		sc.run(budget("smoke"))
	}
	samples := []sample{}
	for r := 0; r < *repeats; r++ {
		runtime.GC()
		wall0, cpu0 := time.Now(), processCPU()
		figs := sc.run(budget(*mode))
		wall, cpu := time.Since(wall0).Seconds(), processCPU()-cpu0
		if len(figs) != len(sc.keys) {
			fail("%s: figures %v, expected keys %v", *name, figs, sc.keys)
		}
		samples = append(samples, sample{figs, wall, cpu})
	}
	if err := out.Encode(samples); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// secondsPerOp calls step (which does opsPerStep operations) until b.seconds()
// have passed, at least twice, and returns the mean seconds per operation.
func secondsPerOp(step func(), opsPerStep int, b budget) float64 {
	limit := b.seconds()
	steps := 0
	start := time.Now()
	for {
		step()
		steps++
		elapsed := time.Since(start)
		if steps >= 2 && elapsed >= limit {
			return elapsed.Seconds() / float64(steps*opsPerStep)
		}
	}
}

// percentile is the p-th percentile (0..100) of values, linearly interpolated
// between closest ranks (gochan.bench._util.percentile).
func percentile(values []float64, p float64) float64 {
	xs := append([]float64(nil), values...)
	sort.Float64s(xs)
	pos := float64(len(xs)-1) * p / 100
	lo := int(pos)
	hi := lo + 1
	if hi > len(xs)-1 {
		hi = len(xs) - 1
	}
	return xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
}

// heapBytes is the Go heap in use once garbage is collected.
func heapBytes() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// ---------------------------------------------------------------- channels

// hundredPairs is a step of 100 sends then 100 receives on ch.
func hundredPairs(ch chan int) func() {
	return func() {
		for i := 0; i < 100; i++ {
			ch <- i
		}
		for i := 0; i < 100; i++ {
			<-ch
		}
	}
}

func buffered(b budget) figures {
	return one(secondsPerOp(hundredPairs(make(chan int, 128)), 100, b) * 1e9)
}

// bystander is buffered with a goroutine spinning on the CPU beside it. Go has
// no GIL: the spinner keeps one of the GOMAXPROCS processors busy.
func bystander(b budget) figures {
	step := hundredPairs(make(chan int, 128))
	var running atomic.Bool
	running.Store(true)
	started, stopped := make(chan struct{}), make(chan int)
	go func() {
		close(started)
		x := 0
		for running.Load() {
			x++
		}
		stopped <- x
	}()
	<-started
	ns := secondsPerOp(step, 100, b) * 1e9
	running.Store(false)
	<-stopped
	return one(ns)
}

func pingpong(b budget) figures {
	n := b.pick(20_000, 5_000, 200)
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		if <-pong != i {
			fail("ping-pong: echo returned the wrong value")
		}
	}
	elapsed := time.Since(t0)
	close(ping) // stops the echo goroutine
	return one(elapsed.Seconds() / float64(n) * 1e6)
}

// checkAllReceived checks that every item 0..n-1 arrived exactly once.
func checkAllReceived(received [][]int, n int) {
	var got []int
	for _, part := range received {
		got = append(got, part...)
	}
	sort.Ints(got)
	ok := len(got) == n
	for i := 0; ok && i < n; i++ {
		ok = got[i] == i
	}
	if !ok {
		fail("prodcons: %d items sent, %d received", n, len(got))
	}
}

func prodcons(b budget) figures {
	return one(prodconsRun(b.pick(200_000, 40_000, 2_000), 4))
}

// prodconsRun is ns per item: pairs producers send n items (in all) on one
// cap-64 channel, pairs consumers receive until it is closed; it checks that
// every item arrived once (_channels.prodcons_go).
func prodconsRun(n, pairs int) float64 {
	per := n / pairs
	n = per * pairs
	ch, start := make(chan int, 64), make(chan struct{})
	produced, consumed := make(chan struct{}, pairs), make(chan []int, pairs)
	for k := 0; k < pairs; k++ {
		go func() {
			<-start
			var got []int
			for v := range ch {
				got = append(got, v)
			}
			consumed <- got
		}()
		go func(k int) {
			<-start
			for i := k * per; i < (k+1)*per; i++ {
				ch <- i
			}
			produced <- struct{}{}
		}(k)
	}
	t0 := time.Now()
	close(start)
	for k := 0; k < pairs; k++ {
		<-produced
	}
	close(ch)
	received := make([][]int, 0, pairs)
	for k := 0; k < pairs; k++ {
		received = append(received, <-consumed)
	}
	elapsed := time.Since(t0)
	checkAllReceived(received, n)
	return elapsed.Seconds() / float64(n) * 1e9
}

const receivers = 100

// receiversParked is how many goroutines are blocked receiving from a channel.
// Go has no per-channel count of waiters, so it reads the goroutine dump.
func receiversParked() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte(" [chan receive"))
		}
		buf = make([]byte, 2*len(buf))
	}
}

func closeBroadcast(b budget) figures {
	ch := make(chan int)
	returned := make([]time.Time, receivers)
	var ready, done sync.WaitGroup
	ready.Add(receivers)
	done.Add(receivers)
	for k := 0; k < receivers; k++ {
		go func(k int) {
			ready.Done()
			<-ch
			returned[k] = time.Now()
			done.Done()
		}(k)
	}
	ready.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for receiversParked() < receivers {
		if time.Now().After(deadline) {
			fail("close_broadcast_100: only %d of %d receivers parked after 10 s", receiversParked(), receivers)
		}
		time.Sleep(500 * time.Microsecond)
	}
	t0 := time.Now()
	close(ch)
	done.Wait()
	last := returned[0]
	for _, t := range returned[1:] {
		if t.After(last) {
			last = t
		}
	}
	return one(last.Sub(t0).Seconds() * 1e3)
}

func chanMemory(b budget) figures {
	n := b.pick(100_000, 100_000, 2_000)
	held := make([]chan int, n)
	before := heapBytes()
	for i := range held {
		held[i] = make(chan int)
	}
	after := heapBytes()
	runtime.KeepAlive(held)
	return one(float64(after-before) / float64(n))
}

const (
	primes    = 100
	lastPrime = 541 // the 100th prime: the generator stops there so that every goroutine ends
)

// checkPrimes checks got against the first primes found by trial division.
func checkPrimes(got []int) {
	var want []int
	for k := 2; len(want) < primes; k++ {
		prime := true
		for _, p := range want {
			if k%p == 0 {
				prime = false
				break
			}
		}
		if prime {
			want = append(want, k)
		}
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			fail("sieve: wrong primes %v...", got[:10])
		}
	}
}

func sieve(b budget) figures {
	generate := func(out chan<- int) {
		for i := 2; i <= lastPrime; i++ {
			out <- i
		}
		close(out)
	}
	filter := func(in <-chan int, out chan<- int, prime int) {
		for v := range in {
			if v%prime != 0 {
				out <- v
			}
		}
		close(out)
	}
	t0 := time.Now()
	ch := make(chan int)
	go generate(ch)
	var got []int
	for i := 0; i < primes; i++ {
		prime := <-ch
		got = append(got, prime)
		ch1 := make(chan int)
		go filter(ch, ch1, prime)
		ch = ch1
	}
	elapsed := time.Since(t0)
	if _, ok := <-ch; ok { // waits for the close to ripple through every filter
		fail("sieve: a number passed every filter")
	}
	checkPrimes(got)
	return one(elapsed.Seconds() * 1e3)
}

// ---------------------------------------------------------------- select

func select2Ready(b budget) figures {
	const batch = 512
	c1, c2 := make(chan int, batch), make(chan int, batch)
	var elapsed time.Duration
	rounds := 0
	// Each round tops both channels up to batch values (untimed), then times
	// batch selects: neither channel runs dry within a round.
	for rounds < 2 || elapsed < b.seconds() {
		for _, c := range [...]chan int{c1, c2} {
			for k := batch - len(c); k > 0; k-- {
				c <- 0
			}
		}
		t0 := time.Now()
		for i := 0; i < batch; i++ {
			select {
			case <-c1:
			case <-c2:
			}
		}
		elapsed += time.Since(t0)
		rounds++
	}
	return one(elapsed.Seconds() / float64(rounds*batch) * 1e9)
}

// select8 polls the 8 channels of c; it returns the index of the case that
// ran, 8 for default.
func select8(c *[8]chan int) int {
	select {
	case <-c[0]:
		return 0
	case <-c[1]:
		return 1
	case <-c[2]:
		return 2
	case <-c[3]:
		return 3
	case <-c[4]:
		return 4
	case <-c[5]:
		return 5
	case <-c[6]:
		return 6
	case <-c[7]:
		return 7
	default:
		return 8
	}
}

func select8Default(b budget) figures {
	var c [8]chan int
	for i := range c {
		c[i] = make(chan int)
	}
	step := func() {
		for i := 0; i < 100; i++ {
			select8(&c)
		}
	}
	if select8(&c) != 8 {
		fail("select8_default: an empty channel was ready")
	}
	return one(secondsPerOp(step, 100, b) * 1e9)
}

// A select statement over 64 channels, written out: the static form compiles
// to one call of the runtime's selectgo, as gochan's select is one call of its
// core. reflect.Select, the dynamic form, would add reflection's cost.

// select64 blocks in one select statement over the 64 channels of c; it returns
// the index of the case that ran and the value received.
func select64(c *[64]chan int) (int, int) {
	select {
	case v := <-c[0]:
		return 0, v
	case v := <-c[1]:
		return 1, v
	case v := <-c[2]:
		return 2, v
	case v := <-c[3]:
		return 3, v
	case v := <-c[4]:
		return 4, v
	case v := <-c[5]:
		return 5, v
	case v := <-c[6]:
		return 6, v
	case v := <-c[7]:
		return 7, v
	case v := <-c[8]:
		return 8, v
	case v := <-c[9]:
		return 9, v
	case v := <-c[10]:
		return 10, v
	case v := <-c[11]:
		return 11, v
	case v := <-c[12]:
		return 12, v
	case v := <-c[13]:
		return 13, v
	case v := <-c[14]:
		return 14, v
	case v := <-c[15]:
		return 15, v
	case v := <-c[16]:
		return 16, v
	case v := <-c[17]:
		return 17, v
	case v := <-c[18]:
		return 18, v
	case v := <-c[19]:
		return 19, v
	case v := <-c[20]:
		return 20, v
	case v := <-c[21]:
		return 21, v
	case v := <-c[22]:
		return 22, v
	case v := <-c[23]:
		return 23, v
	case v := <-c[24]:
		return 24, v
	case v := <-c[25]:
		return 25, v
	case v := <-c[26]:
		return 26, v
	case v := <-c[27]:
		return 27, v
	case v := <-c[28]:
		return 28, v
	case v := <-c[29]:
		return 29, v
	case v := <-c[30]:
		return 30, v
	case v := <-c[31]:
		return 31, v
	case v := <-c[32]:
		return 32, v
	case v := <-c[33]:
		return 33, v
	case v := <-c[34]:
		return 34, v
	case v := <-c[35]:
		return 35, v
	case v := <-c[36]:
		return 36, v
	case v := <-c[37]:
		return 37, v
	case v := <-c[38]:
		return 38, v
	case v := <-c[39]:
		return 39, v
	case v := <-c[40]:
		return 40, v
	case v := <-c[41]:
		return 41, v
	case v := <-c[42]:
		return 42, v
	case v := <-c[43]:
		return 43, v
	case v := <-c[44]:
		return 44, v
	case v := <-c[45]:
		return 45, v
	case v := <-c[46]:
		return 46, v
	case v := <-c[47]:
		return 47, v
	case v := <-c[48]:
		return 48, v
	case v := <-c[49]:
		return 49, v
	case v := <-c[50]:
		return 50, v
	case v := <-c[51]:
		return 51, v
	case v := <-c[52]:
		return 52, v
	case v := <-c[53]:
		return 53, v
	case v := <-c[54]:
		return 54, v
	case v := <-c[55]:
		return 55, v
	case v := <-c[56]:
		return 56, v
	case v := <-c[57]:
		return 57, v
	case v := <-c[58]:
		return 58, v
	case v := <-c[59]:
		return 59, v
	case v := <-c[60]:
		return 60, v
	case v := <-c[61]:
		return 61, v
	case v := <-c[62]:
		return 62, v
	case v := <-c[63]:
		return 63, v
	}
}

func select64Blocking(b budget) figures {
	n := b.pick(20_000, 4_000, 100)
	var c [64]chan int
	for i := range c {
		c[i] = make(chan int)
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	targets := make([]int, n)
	for i := range targets {
		targets[i] = rng.Intn(64)
	}
	finished := make(chan int, 1)
	go func() {
		wrong := 0
		for k := 0; k < n; k++ {
			if i, v := select64(&c); i != v {
				wrong++
			}
		}
		finished <- wrong
	}()
	t0 := time.Now()
	for _, i := range targets {
		c[i] <- i
	}
	elapsed := time.Since(t0)
	if <-finished != 0 {
		fail("select64_blocking: select returned a value from another case")
	}
	return one(elapsed.Seconds() / float64(n) * 1e6)
}

// ---------------------------------------------------------------- timers
//
// Lateness = the time at which the receiver has the value minus the deadline,
// the deadline being (the time just before the timer was armed) + duration.

func lateness(late []float64) figures {
	return figures{"p50": percentile(late, 50) * 1e3, "p99": percentile(late, 99) * 1e3}
}

func timerLatency(b budget) figures {
	const duration = 10 * time.Millisecond
	count := b.pick(200, 50, 5)
	late := make([]float64, 0, count)
	for i := 0; i < count; i++ {
		t0 := time.Now()
		<-time.After(duration)
		late = append(late, time.Since(t0.Add(duration)).Seconds())
	}
	return lateness(late)
}

const storm = 1000

// stormDurations are the durations Python's random.Random(1000).uniform(0.001,
// 0.050) draws, 1000 times: the same timers as the Python scenario arms.
func stormDurations() []float64 {
	rng := newPythonRandom(1000)
	out := make([]float64, storm)
	for i := range out {
		out[i] = rng.uniform(0.001, 0.050)
	}
	return out
}

func timerStorm(b budget) figures {
	seconds := stormDurations()
	durations := make([]time.Duration, storm)
	for i, s := range seconds {
		durations[i] = time.Duration(s * float64(time.Second))
	}
	armedAt := make([]time.Time, storm)
	chans := make([]<-chan time.Time, storm)
	t0 := time.Now()
	for i, d := range durations {
		armedAt[i] = time.Now()
		chans[i] = time.After(d)
	}
	arm := time.Since(t0).Seconds() / storm
	deadlines := make([]time.Time, storm)
	order := make([]int, storm)
	for i := range deadlines {
		deadlines[i] = armedAt[i].Add(durations[i])
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return deadlines[order[x]].Before(deadlines[order[y]]) })
	late := make([]float64, 0, storm)
	for _, i := range order {
		<-chans[i]
		late = append(late, time.Since(deadlines[i]).Seconds())
	}
	return figures{"arm": arm * 1e6, "p99": percentile(late, 99) * 1e3}
}

func timerMemory(b budget) figures {
	n := b.pick(100_000, 100_000, 2_000)
	held := make([]<-chan time.Time, n)
	before := heapBytes()
	for i := range held {
		held[i] = time.After(time.Hour)
	}
	after := heapBytes()
	runtime.KeepAlive(held)
	return one(float64(after-before) / float64(n))
}

// pythonRandom is CPython's random.Random: MT19937 seeded by init_by_array
// with the seed's 32-bit words, random() built from two 32-bit outputs.
type pythonRandom struct {
	mt  [624]uint32
	mti int
}

func newPythonRandom(seed uint32) *pythonRandom {
	r := &pythonRandom{}
	mt := &r.mt
	mt[0] = 19650218
	for i := 1; i < 624; i++ {
		mt[i] = 1812433253*(mt[i-1]^(mt[i-1]>>30)) + uint32(i)
	}
	key := []uint32{seed} // CPython's key for a seed below 2**32
	i, j := 1, 0
	for k := 624; k > 0; k-- {
		mt[i] = (mt[i] ^ ((mt[i-1] ^ (mt[i-1] >> 30)) * 1664525)) + key[j] + uint32(j)
		i++
		j++
		if i >= 624 {
			mt[0] = mt[623]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k := 623; k > 0; k-- {
		mt[i] = (mt[i] ^ ((mt[i-1] ^ (mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= 624 {
			mt[0] = mt[623]
			i = 1
		}
	}
	mt[0] = 0x80000000
	r.mti = 624
	return r
}

func (r *pythonRandom) uint32() uint32 {
	mag01 := [2]uint32{0, 0x9908b0df}
	if r.mti >= 624 {
		mt := &r.mt
		for k := 0; k < 624; k++ {
			y := (mt[k] & 0x80000000) | (mt[(k+1)%624] & 0x7fffffff)
			mt[k] = mt[(k+397)%624] ^ (y >> 1) ^ mag01[y&1]
		}
		r.mti = 0
	}
	y := r.mt[r.mti]
	r.mti++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

func (r *pythonRandom) random() float64 {
	a, b := r.uint32()>>5, r.uint32()>>6
	return (float64(a)*67108864.0 + float64(b)) * (1.0 / 9007199254740992.0)
}

func (r *pythonRandom) uniform(a, b float64) float64 {
	// The conversion rounds the product, so that no architecture fuses it
	// into a multiply-add that Python's a + (b-a)*random() does not do.
	return a + float64((b-a)*r.random())
}

// ---------------------------------------------------------------- signals
//
// As gochan.bench._signals: for each signal the receiver writes a byte to the
// "ready" pipe and blocks receiving on a channel that os/signal.Notify relays
// SIGUSR1 to; the sender process (this program again, with -signal-sender)
// reads the byte, sleeps 2 ms, writes its CLOCK_MONOTONIC time to the
// "stamps" pipe and sends SIGUSR1 right after; the receiver reads
// CLOCK_MONOTONIC once it holds the signal. One signal is in flight at a time.

func signalLatency(b budget) figures {
	count := b.pick(500, 100, 5)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	defer signal.Stop(ch)
	readyR, readyW, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	stampsR, stampsW, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	sender := exec.Command(self, "-signal-sender", strconv.Itoa(os.Getpid()), "-signal-count", strconv.Itoa(count))
	sender.ExtraFiles = []*os.File{readyR, stampsW} // fds 3 and 4 in the sender
	sender.Stderr = os.Stderr
	if err := sender.Start(); err != nil {
		panic(err)
	}
	readyR.Close()
	stampsW.Close()
	late := make([]float64, 0, count)
	stamp := make([]byte, 8)
	for i := 0; i < count; i++ {
		readyW.Write([]byte{'r'})
		got := <-ch
		received := clock(clockMonotonic)
		if _, err := io.ReadFull(stampsR, stamp); err != nil {
			fail("signal sender exited early")
		}
		sent := int64(binary.LittleEndian.Uint64(stamp))
		if got != syscall.SIGUSR1 {
			fail("signal_latency: received %v, expected SIGUSR1", got)
		}
		late = append(late, float64(received-sent)/1e9)
	}
	readyW.Close()
	stampsR.Close()
	sender.Wait()
	return lateness(late)
}

// signalSender is signal_latency's other process: fd 3 is "ready", fd 4 "stamps".
func signalSender(pid, count int) {
	ready, stamps := os.NewFile(3, "ready"), os.NewFile(4, "stamps")
	buf, stamp := make([]byte, 1), make([]byte, 8)
	for i := 0; i < count; i++ {
		if n, _ := ready.Read(buf); n == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
		binary.LittleEndian.PutUint64(stamp, uint64(clock(clockMonotonic)))
		stamps.Write(stamp)
		syscall.Kill(pid, syscall.SIGUSR1)
	}
}

// signalIdleCPU is the percent of one CPU the process uses while a goroutine
// waits on a notified channel and the main goroutine sleeps.
func signalIdleCPU(b budget) figures {
	window := map[budget]time.Duration{"full": 2 * time.Second, "quick": 500 * time.Millisecond, "smoke": 50 * time.Millisecond}[b]
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	waiter := make(chan struct{})
	go func() {
		<-ch
		close(waiter)
	}()
	cpu0, wall0 := processCPU(), time.Now()
	time.Sleep(window)
	percent := (processCPU() - cpu0) / time.Since(wall0).Seconds() * 100
	signal.Stop(ch) // no signal is sent to ch once Stop has returned
	close(ch)
	<-waiter
	return one(percent)
}

// ---------------------------------------------------------------- contexts

func contextTimeoutCancel(b budget) figures {
	bg := context.Background()
	step := func() {
		for i := 0; i < 100; i++ {
			_, cancel := context.WithTimeout(bg, time.Hour)
			cancel()
		}
	}
	return one(secondsPerOp(step, 100, b) * 1e6)
}

type heldContext struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func contextMemory(b budget) figures {
	n := b.pick(100_000, 100_000, 2_000)
	held := make([]heldContext, n)
	bg := context.Background()
	before := heapBytes()
	for i := range held {
		held[i].ctx, held[i].cancel = context.WithTimeout(bg, time.Hour)
	}
	after := heapBytes()
	runtime.KeepAlive(held)
	return one(float64(after-before) / float64(n))
}

func contextCancelTree(b budget) figures {
	const tree, fanout = 1000, 10
	trees := b.pick(100, 20, 2)
	var total time.Duration
	for t := 0; t < trees; t++ {
		nodes := make([]context.Context, tree)
		cancels := make([]context.CancelFunc, tree)
		nodes[0], cancels[0] = context.WithCancel(context.Background())
		for i := 1; i < tree; i++ {
			nodes[i], cancels[i] = context.WithCancel(nodes[(i-1)/fanout])
		}
		dones := make([]<-chan struct{}, tree)
		for i, c := range nodes {
			dones[i] = c.Done()
		}
		t0 := time.Now()
		cancels[0]()
		for _, d := range dones {
			<-d
		}
		total += time.Since(t0)
		for _, c := range nodes {
			if c.Err() == nil {
				fail("context_cancel_tree: a context is not done")
			}
		}
		runtime.KeepAlive(cancels)
	}
	return one(total.Seconds() / float64(trees) * 1e6)
}

// ---------------------------------------------------------------- scaling (_scale.py)
//
// One figure (or two) at every size of a series, in one repeat. The keys are
// "n64" or, with several figures per size, "arm.n64" (_registry.size_key).

var (
	scalePairs   = []int{1, 2, 4, 8, 16, 32, 64}
	scaleCases   = []int{1, 4, 16, 64, 256, 1024}
	scalePending = []int{10, 100, 1_000, 10_000, 100_000}
)

func sizeKey(size int, family string) string {
	if family == "" {
		return "n" + strconv.Itoa(size)
	}
	return family + ".n" + strconv.Itoa(size)
}

// sizeKeys lists the keys family by family, each over every size (the order of the Python metrics).
func sizeKeys(families []string, sizes []int) []string {
	var keys []string
	for _, f := range families {
		for _, n := range sizes {
			keys = append(keys, sizeKey(n, f))
		}
	}
	return keys
}

// scaleThreads is prodcons with 1 to 64 producer/consumer pairs, 64k items per size.
func scaleThreads(b budget) figures {
	out := figures{}
	for _, p := range scalePairs {
		out[sizeKey(p, "")] = prodconsRun(b.pick(64_000, 12_800, 640), p)
	}
	return out
}

// selectRounds is select64_blocking's count up to 64 channels, then fewer in proportion (at least 5).
func selectRounds(k int, b budget) int {
	base := b.pick(20_000, 4_000, 100)
	if k < 64 {
		k = 64
	}
	if n := base * 64 / k; n > 5 {
		return n
	}
	return 5
}

// scaleSelect is select64_blocking over 1 to 1024 channels. A select statement
// has a fixed number of cases, so this uses reflect.Select, the dynamic form
// (one call over a slice of cases, like gochan's select(*cases)), at every size.
func scaleSelect(b budget) figures {
	out := figures{}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for _, k := range scaleCases {
		n := selectRounds(k, b)
		chans := make([]chan int, k)
		cases := make([]reflect.SelectCase, k)
		for i := range chans {
			chans[i] = make(chan int)
			cases[i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(chans[i])}
		}
		targets := make([]int, n)
		for i := range targets {
			targets[i] = rng.Intn(k)
		}
		finished := make(chan int, 1)
		go func() {
			wrong := 0
			for r := 0; r < n; r++ {
				if i, v, _ := reflect.Select(cases); int(v.Int()) != i {
					wrong++
				}
			}
			finished <- wrong
		}()
		t0 := time.Now()
		for _, i := range targets {
			chans[i] <- i
		}
		elapsed := time.Since(t0)
		if <-finished != 0 {
			fail("blocking select over %d channels: select returned a value from another case", k)
		}
		out[sizeKey(k, "")] = elapsed.Seconds() / float64(n) * 1e6
	}
	return out
}

// armCycles is how many times the n pending timers are armed at size n (_scale.arm_cycles).
func armCycles(n int, b budget) int {
	if c := b.pick(10_000, 2_000, 200) / n; c > 1 {
		return c
	}
	return 1
}

// scaleTimers arms n timers due in one to two hours (in random order; at the
// small sizes several times over, the figure being the median), then times
// 5 ms timers one at a time beside the last n; the pending timers are stopped
// before the next size. time.NewTimer is what time.After calls; it is used so
// that the timers can be stopped (Go 1.19 keeps an unstopped timer until it fires).
func scaleTimers(b budget) figures {
	const probe = 5 * time.Millisecond
	out := figures{}
	for _, n := range scalePending {
		rng := rand.New(rand.NewSource(int64(n)))
		durations := make([]time.Duration, n)
		for i := range durations {
			durations[i] = time.Hour + time.Duration(rng.Float64()*float64(time.Hour))
		}
		timers := make([]*time.Timer, n)
		var arms []float64
		for c := armCycles(n, b); c > 0; c-- {
			if arms != nil { // the previous cycle's timers are stopped, as Python drops them
				for _, t := range timers {
					t.Stop()
				}
			}
			t0 := time.Now()
			for i, d := range durations {
				timers[i] = time.NewTimer(d)
			}
			arms = append(arms, time.Since(t0).Seconds()/float64(n))
		}
		out[sizeKey(n, "arm")] = percentile(arms, 50) * 1e6
		count := b.pick(50, 20, 3)
		late := make([]float64, 0, count)
		for i := 0; i < count; i++ {
			t0 := time.Now()
			<-time.After(probe)
			late = append(late, time.Since(t0.Add(probe)).Seconds())
		}
		out[sizeKey(n, "p50")] = percentile(late, 50) * 1e3
		for _, t := range timers {
			t.Stop()
		}
	}
	return out
}
