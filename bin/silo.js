#!/usr/bin/env node
import "../dist/cli/silo.js";
