// Starts a browser download of a short-lived URL without leaving the page.

export function startDownload(url: string, filename: string): void {
  const a = document.createElement('a');
  a.href = url;
  // Ignored across origins, where the storage's Content-Disposition names the file instead.
  a.download = filename;
  a.rel = 'noopener';
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
}

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
