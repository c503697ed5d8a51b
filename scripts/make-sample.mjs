// Deterministic synthetic synapse table: node scripts/make-sample.mjs > examples/synapses.csv
let s = 12345;
const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
const rows = ['annotation_id,x,y,z,confidence,kind,color,pre_body,post_body'];
const kinds = ['excitatory', 'inhibitory', 'modulatory'];
const colors = { excitatory: '#e6194b', inhibitory: '#3cb44b', modulatory: '#4363d8' };
const bodies = Array.from({ length: 40 }, (_, i) => (10000000000000000000n + BigInt(i) * 7919n).toString());
for (let i = 0; i < 800; i++) {
  const id = (1n << 60n) + BigInt(i) * 1000003n;
  const cx = 2000 + 1500 * Math.sin(i / 50), cy = 1500 + 1200 * Math.cos(i / 70);
  const x = (cx + rnd() * 400).toFixed(1), y = (cy + rnd() * 400).toFixed(1), z = (rnd() * 120).toFixed(1);
  const k = kinds[Math.floor(rnd() * 3)];
  const pre = bodies[Math.floor(rnd() * 40)];
  const a = Math.floor(rnd() * 40), b = (a + 1 + Math.floor(rnd() * 39)) % 40; // two different bodies
  const post = rnd() < 0.1 ? '' : rnd() < 0.2 ? `[${bodies[a]}, ${bodies[b]}]` : bodies[a];
  rows.push([id, x, y, z, (0.5 + rnd() / 2).toFixed(3), k, colors[k], pre, post.includes(',') ? `"${post}"` : post].join(','));
}
console.log(rows.join('\n'));
