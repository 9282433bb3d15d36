"""The sandbox PSP bundled with Brokerdesk (`brokerdesk psp-sim`); see docs/psp-sandbox.md."""
