#!/usr/bin/env node
// The `xcd` command: runs the compiled CLI from dist/ (built by `npm install` through `prepare`).
require('../dist/cli/main.js');
