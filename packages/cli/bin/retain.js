#!/usr/bin/env node
'use strict';
// process.exit ends the process at once (the Temporal runtime would keep it alive otherwise), but
// only once stdout has flushed: a large output (compare --json, show) piped to a slow reader would
// otherwise lose its tail.
const exitAfterStdout = (code) => process.stdout.write('', () => process.exit(code));
require('../dist/main.js')
  .main(process.argv)
  .then(exitAfterStdout, (err) => {
    console.error(err);
    exitAfterStdout(1);
  });
