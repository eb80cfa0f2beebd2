// Numbers for people: sizes, durations and speeds as the pages show them.

/** One decimal below 10 ("1.5 MB"), whole numbers above ("12 MB", "150 MB"). */
function roundForDisplay(value: number): string {
  if (value < 10) {
    const rounded = Math.round(value * 10) / 10;
    if (rounded < 10) return String(rounded);
  }
  return String(Math.round(value));
}

function scaled(value: number, units: readonly string[], step: number): string {
  let unit = 0;
  // Move up a unit once the rounded value would show four digits (999.6 kB reads as "1 MB").
  while (unit < units.length - 1 && Math.round(value) >= step) {
    value /= step;
    unit += 1;
  }
  return `${roundForDisplay(value)} ${units[unit]}`;
}

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;
const BIT_RATE_UNITS = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'] as const;

/** Decimal units, as operating systems show file sizes: 1500000 → "1.5 MB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0 B';
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  return scaled(bytes, BYTE_UNITS, 1000);
}

/** Bits per second, as connection speeds are advertised: 1500000 B/s → "12 Mbit/s". */
export function formatSpeed(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '0 bit/s';
  return scaled(bytesPerSecond * 8, BIT_RATE_UNITS, 1000);
}

/** The two largest units only, which is as precise as a time estimate deserves: "2 min 5 s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const total = Math.max(0, Math.round(seconds));
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3_600);
  const minutes = Math.floor((total % 3_600) / 60);
  const secs = total % 60;
  const parts: [number, string][] = [
    [days, 'd'],
    [hours, 'h'],
    [minutes, 'min'],
    [secs, 's'],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  if (first === -1) return '0 s';
  return parts
    .slice(first, first + 2)
    .filter(([value], index) => index === 0 || value > 0)
    .map(([value, unit]) => `${value} ${unit}`)
    .join(' ');
}
