// Command empty does nothing and exits 0: scripts/bench-startup.sh runs it to
// show what starting any Go process costs on this machine (fork, exec,
// runtime start), below which no Go helper can go.
package main

func main() {}
