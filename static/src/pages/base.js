// Pages with nothing live on them (sign-in, sign-up, invitations, errors).
import { fillTimes } from '../common.js'

fillTimes()
