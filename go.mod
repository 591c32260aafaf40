module pantavisor

go 1.26.0

require golang.org/x/sys v0.50.0

require (
	github.com/diskfs/go-diskfs v1.9.4
	github.com/ulikunitz/xz v0.5.17
	github.com/vishvananda/netns v0.0.5
)

require (
	github.com/elliotwutingfeng/asciiset v0.0.0-20260129054604-cfde2086bc57 // indirect
	github.com/kisielk/errcheck v1.30.0 // indirect
	golang.org/x/mod v0.41.0 // indirect
	golang.org/x/sync v0.23.0 // indirect
	golang.org/x/tools v0.51.0 // indirect
)

require (
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

tool github.com/kisielk/errcheck
