// Package swap writes swap headers (what mkswap writes), turns swap areas
// on and off through swapon(2)/swapoff(2) and reads /proc/swaps.
package swap
