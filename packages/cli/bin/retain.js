#!/usr/bin/env node
'use strict';
require('../dist/main.js')
  .main(process.argv)
  .then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
