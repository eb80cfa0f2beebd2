import { render } from 'preact';
import { App } from './app';
import { loadConfig } from './config';
import './styles.css';

const root = document.getElementById('app')!;

loadConfig()
  .then((config) => render(<App config={config} />, root))
  .catch(() => {
    // Without its configuration the portal cannot reach the API: say so plainly.
    root.innerHTML = '';
    const main = document.createElement('main');
    main.className = 'boot-error';
    const h1 = document.createElement('h1');
    h1.textContent = 'Ferry could not start';
    const p = document.createElement('p');
    p.textContent = 'Could not reach Ferry. Check your connection and reload the page.';
    main.append(h1, p);
    root.append(main);
  });
