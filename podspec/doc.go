// Package podspec is the one model of pods and containers: plain data that
// kube play produces, the command line's flags translate into, the state
// store keeps and kube generate reads back. It imports no engine package.
package podspec
