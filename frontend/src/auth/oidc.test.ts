import { describe, expect, it } from 'vitest';
import { isLocalHttpIssuer, safeReturnPath } from './oidc';

describe('oidc helpers', () => {
  it('allows plain http only for a loopback issuer', () => {
    expect(isLocalHttpIssuer('http://127.0.0.1:8080/oidc')).toBe(true);
    expect(isLocalHttpIssuer('http://localhost:8080/oidc')).toBe(true);
    expect(isLocalHttpIssuer('http://ferry.example.org/oidc')).toBe(false);
    expect(isLocalHttpIssuer('https://127.0.0.1/oidc')).toBe(false);
  });

  it('returns only to paths of the portal', () => {
    expect(safeReturnPath('/transfers/abc?x=1')).toBe('/transfers/abc?x=1');
    expect(safeReturnPath('//evil.example/')).toBe('/');
    expect(safeReturnPath('/\\evil.example')).toBe('/');
    expect(safeReturnPath('https://evil.example/')).toBe('/');
    expect(safeReturnPath('/auth/callback?code=1')).toBe('/');
    expect(safeReturnPath(null)).toBe('/');
  });
});
