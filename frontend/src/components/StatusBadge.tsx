import type { Tone } from '../lib/words';

export function StatusBadge({ tone, label }: { tone: Tone; label: string }) {
  return <span class={`badge badge-${tone}`}>{label}</span>;
}
