package store_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/tagflow/tagflow/store"
)

func Example() {
	dir, err := os.MkdirTemp("", "tagflow-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := store.Open(filepath.Join(dir, "tagflow.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	const image = "index.docker.io/library/nginx"
	scan1 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	changed, err := db.PutTags(image, []string{"1.27.1", "1.27.0", "latest"}, scan1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("first scan changed:", changed)

	// The next scan finds one more tag.
	changed, err = db.PutTags(image, []string{"1.27.0", "1.27.1", "1.27.2", "latest"}, scan1.Add(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("second scan changed:", changed)

	set, err := db.Tags(image)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(set.Tags)

	seen, err := db.FirstSeen(image)
	if err != nil {
		log.Fatal(err)
	}
	at, _ := seen.FirstSeen("1.27.2")
	fmt.Println("1.27.2 first seen", at.Format(time.RFC3339))
	// Output:
	// first scan changed: true
	// second scan changed: true
	// [1.27.0 1.27.1 1.27.2 latest]
	// 1.27.2 first seen 2026-03-01T13:00:00Z
}

func ExampleDB_PutScanError() {
	dir, err := os.MkdirTemp("", "tagflow-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "tagflow.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	const image = "ghcr.io/example/app"
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := db.PutTags(image, []string{"v1.0.0"}, at); err != nil {
		log.Fatal(err)
	}
	// A failed scan keeps the cached tags.
	if err := db.PutScanError(image, at.Add(time.Hour), "GET https://ghcr.io/v2/: 503 Service Unavailable"); err != nil {
		log.Fatal(err)
	}
	info, err := db.ScanInfo(image)
	if err != nil {
		log.Fatal(err)
	}
	set, _ := db.Tags(image)
	fmt.Println(info.TagCount, info.LastSuccess.Format(time.Kitchen), info.LastError)
	fmt.Println(set.Tags)
	// Output:
	// 1 12:00PM GET https://ghcr.io/v2/: 503 Service Unavailable
	// [v1.0.0]
}
