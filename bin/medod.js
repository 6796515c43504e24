#!/usr/bin/env node
import "../dist/daemon/medod-main.js";
