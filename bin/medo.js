#!/usr/bin/env node
import "../dist/cli/medo.js";
