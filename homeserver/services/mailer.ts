/**
 * Outgoing mail over SMTP (nodemailer), from the operator's settings. Without an SMTP URL the
 * server sends nothing, and the flows that need mail say so instead of pretending.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config.ts';
import { MatrixError } from '../errors.ts';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export class Mailer {
  private readonly transport: Transporter | undefined;
  private readonly from: string;

  constructor(config: Config) {
    this.transport = config.smtpUrl ? nodemailer.createTransport(config.smtpUrl) : undefined;
    this.from = config.mailFrom ?? `Whisper <noreply@${config.serverName}>`;
  }

  get enabled(): boolean {
    return this.transport !== undefined;
  }

  async send(mail: Mail): Promise<void> {
    if (!this.transport) throw mailDisabled();
    try {
      await this.transport.sendMail({ from: this.from, ...mail });
    } catch {
      // The SMTP server's answer can name internal hosts: the log has it, the client does not.
      throw new MatrixError(502, 'M_UNKNOWN', 'The email could not be sent. Try again later.');
    }
  }

  close(): void {
    this.transport?.close();
  }
}

export function mailDisabled(): MatrixError {
  return new MatrixError(400, 'M_THREEPID_MEDIUM_NOT_SUPPORTED', 'This server does not send email (no SMTP server is configured).');
}
