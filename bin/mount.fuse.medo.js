#!/usr/bin/env node
import "../dist/mount-helper/mount-fuse-medo.js";
