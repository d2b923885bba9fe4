package main

import (
	"testing"

	"pgtenant/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }
