import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './views/App.js';
import { startConnection } from './stores/connect.js';
import { startDataWorker } from './worker/client.js';
import './styles.css';

startDataWorker();
startConnection();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
