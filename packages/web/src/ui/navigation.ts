/** Where each role works: its home and the sections of its navigation. */
import type { Role } from '../api/account';

export interface Section {
  to: string;
  label: string;
}

const PATIENT: Section[] = [
  { to: '/app/patient', label: 'My record' },
  { to: '/app/patient/medications', label: 'Medications' },
  { to: '/app/patient/consent', label: 'Sharing' },
  { to: '/app/patient/access-log', label: 'Who saw my data' },
  { to: '/app/patient/documents', label: 'Documents' },
];
const CLINICIAN: Section[] = [{ to: '/app/clinician', label: 'Patients' }];
const LAB: Section[] = [
  { to: '/app/lab', label: 'Post results' },
  { to: '/app/clinician', label: 'Patients' },
];
const PHARMACIST: Section[] = [
  { to: '/app/pharmacy', label: 'Prescriptions' },
  { to: '/app/clinician', label: 'Patients' },
];
const AUDITOR: Section[] = [
  { to: '/app/auditor', label: 'Access log' },
  { to: '/app/auditor/break-glass', label: 'Break-glass review' },
  { to: '/app/auditor/verify', label: 'Verify' },
];
const ADMIN: Section[] = [
  { to: '/app/admin', label: 'Accounts' },
  { to: '/app/admin/licences', label: 'Licences' },
  { to: '/app/admin/clients', label: 'Apps' },
  { to: '/app/admin/status', label: 'Node status' },
];

export function sectionsFor(role: Role): Section[] {
  switch (role) {
    case 'patient':
      return PATIENT;
    case 'doctor':
    case 'nurse':
    case 'insurer':
    case 'researcher':
      return CLINICIAN;
    case 'pharmacist':
      return PHARMACIST;
    case 'lab':
      return LAB;
    case 'auditor':
      return AUDITOR;
    case 'admin':
      return ADMIN;
  }
}

export function homeOf(role: Role): string {
  return sectionsFor(role)[0]!.to;
}
