import * as v8 from 'node:v8';

// The runner starts `node dist/index.js` with no flags of its own, so they are set here, first thing.
// V8's young generation grows to 16 MB semi-spaces by default, most of it never needed by a run that allocates in
// short bursts (parsing the bundle, JSON answers): kept at its first size, the peak is about 12 MB lower for a few
// more, cheap, scavenges.
v8.setFlagsFromString('--semi-space-growth-factor=1');
// A run is a few seconds of mostly waiting: V8's compiling tiers (Sparkplug, Maglev, TurboFan) cost more CPU to
// compile than they save here, and about 15-20 MB of peak memory. Measured on Node 24 (bench/report.md): the same
// CPU time or less, a peak of about 85 MB instead of 100-110.
for (const flag of ['--no-sparkplug', '--no-maglev', '--no-opt']) v8.setFlagsFromString(flag);
