{
  "targets": [
    {
      "target_name": "medo_native",
      "sources": ["native/medo_native.c", "native/medo_core.c"],
      "libraries": ["-ldl"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "medo_fuse",
      "sources": ["native/medo_fuse.c", "native/medo_core.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "<!@(pkg-config --cflags fuse3)"],
      "libraries": ["<!@(pkg-config --libs fuse3)"]
    }
  ]
}
