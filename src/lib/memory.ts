import * as v8 from 'node:v8';

// The runner starts `node dist/index.js` with no flags of its own. V8's young generation grows to 16 MB semi-spaces
// by default, most of it never needed by a run that allocates in short bursts (parsing the bundle, JSON answers):
// capping it keeps the process's peak memory about 12 MB lower for a few more, cheap, scavenges.
v8.setFlagsFromString('--semi-space-growth-factor=1');
