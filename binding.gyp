{
  "targets": [
    {
      "target_name": "medo_native",
      "sources": ["native/medo_native.c"],
      "libraries": ["-lz"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
